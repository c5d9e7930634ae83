/*
 * test_geohash.c: unit tests of src/ds/geohash.c.
 *
 * The expected scores, positions (as GEOPOS prints them), geohash strings
 * and distances (as GEODIST prints them) come from redis-server 7.0.15:
 * GEOADD then ZSCORE / GEOPOS / GEOHASH / GEODIST, and ZADD of scores no
 * GEOADD writes (negative, huge, infinite, fractional).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ds/geohash.h"
#include "ds/util.h"
#include "unit.h"

struct point {
    const char *name;
    double lon, lat;
    uint64_t score;
    const char *pos_lon, *pos_lat, *hash;
};

static const struct point points[] = {
    {"Palermo", 13.361389, 38.115556, 3479099956230698ULL, "13.36138933897018433",
     "38.11555639549629859", "sqc8b49rny0"},
    {"Catania", 15.087269, 37.502669, 3479447370796909ULL, "15.08726745843887329",
     "37.50266842333162032", "sqdtr74hyu0"},
    {"edge", 180, 85.05112878, 13510798882111488ULL, "180", "85.0511287799999991", "bp05b5048p0"},
    {"sw", -180, -85.05112878, 0, "-179.99999731779098511", "-85.05112751263942528", "00bh0hbj200"},
    {"zero", 0, 0, 3377699720527872ULL, "0.00000268220901489", "0.00000126736058093",
     "s0000000000"},
    {"paris", 2.3522, 48.8566, 3663832779122514ULL, "2.35219806432723999", "48.8565995303492997",
     "u09tvw0f640"},
    {"ny", -73.9857, 40.7484, 1791875672646935ULL, "-73.98570209741592407", "40.74839914563441567",
     "dr5ru6j28h0"},
};
#define NPOINTS (sizeof(points) / sizeof(points[0]))

static const char *fmt_coord(char *buf, double v)
{
    util_ld2str(buf, UTIL_LD_STR_MAX, (long double)v);
    return buf;
}

static const char *fmt_dist(char *buf, double v)
{
    snprintf(buf, 64, "%.4f", v);
    return buf;
}

static uint64_t score_of(double lon, double lat)
{
    geohash_bits h;
    if (!geohash_encode_wgs84(lon, lat, GEOHASH_STEP_MAX, &h))
        return UINT64_MAX;
    return geohash_align52(h);
}

TEST(encode_scores)
{
    for (size_t i = 0; i < NPOINTS; i++)
        CHECK_EQ_INT(score_of(points[i].lon, points[i].lat), points[i].score);
}

TEST(encode_rejects_out_of_range)
{
    geohash_bits h;
    CHECK_EQ_INT(geohash_encode_wgs84(200, 10, GEOHASH_STEP_MAX, &h), 0);
    CHECK_EQ_INT(geohash_encode_wgs84(10, 86, GEOHASH_STEP_MAX, &h), 0);
    CHECK_EQ_INT(geohash_encode_wgs84(-180.0000001, 0, GEOHASH_STEP_MAX, &h), 0);
    CHECK_EQ_INT(geohash_encode_wgs84(0, -85.05112879, GEOHASH_STEP_MAX, &h), 0);
    CHECK_EQ_INT(geohash_encode_wgs84(0, 0, 0, &h), 0);
    CHECK_EQ_INT(geohash_encode_wgs84(0, 0, 33, &h), 0);
}

TEST(decode_positions)
{
    char lon[UTIL_LD_STR_MAX], lat[UTIL_LD_STR_MAX];
    for (size_t i = 0; i < NPOINTS; i++) {
        double xy[2];
        CHECK_EQ_INT(geohash_decode_score((double)points[i].score, xy), 1);
        CHECK_EQ_STR(fmt_coord(lon, xy[0]), points[i].pos_lon);
        CHECK_EQ_STR(fmt_coord(lat, xy[1]), points[i].pos_lat);
    }
}

TEST(geohash_strings)
{
    char buf[12];
    for (size_t i = 0; i < NPOINTS; i++) {
        geohash_score_to_string((double)points[i].score, buf);
        CHECK_EQ_STR(buf, points[i].hash);
    }
}

/* ZADD m <score> x; GEOPOS m x; GEOHASH m x on redis-server. */
TEST(foreign_scores)
{
    static const struct {
        double score;
        const char *lon, *lat, *hash;
    } cases[] = {
        {-1, "180", "85.0511287799999991", "bp05b5048p0"},
        {1e30, "-179.99999731779098511", "-85.05112751263942528", "00bh0hbj200"},
        {INFINITY, "-179.99999731779098511", "-85.05112751263942528", "00bh0hbj200"},
        {-INFINITY, "180", "-85.05112751263942528", "00bh0hbj200"},
        {1.5, "-179.99999731779098511", "-85.05112497791824921", "00bh0hbj210"},
        {9007199254740993.0, "180", "-85.05112751263942528", "00bh0hbj200"},
    };
    char lon[UTIL_LD_STR_MAX], lat[UTIL_LD_STR_MAX], hash[12];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double xy[2];
        CHECK_EQ_INT(geohash_decode_score(cases[i].score, xy), 1);
        CHECK_EQ_STR(fmt_coord(lon, xy[0]), cases[i].lon);
        CHECK_EQ_STR(fmt_coord(lat, xy[1]), cases[i].lat);
        geohash_score_to_string(cases[i].score, hash);
        CHECK_EQ_STR(hash, cases[i].hash);
    }
}

static double dist_of(double lon1, double lat1, double lon2, double lat2)
{
    double a[2], b[2];
    geohash_decode_score((double)score_of(lon1, lat1), a);
    geohash_decode_score((double)score_of(lon2, lat2), b);
    return geohash_distance(a[0], a[1], b[0], b[1]);
}

/* GEODIST, with the unit sizes of M KM FT MI. */
TEST(distances)
{
    char buf[64];
    CHECK_EQ_STR(fmt_dist(buf, dist_of(13.361389, 38.115556, 15.087269, 37.502669)), "166274.1516");
    CHECK_EQ_STR(fmt_dist(buf, dist_of(2.3522, 48.8566, -73.9857, 40.7484) / 1000), "5835.1655");
    CHECK_EQ_STR(fmt_dist(buf, dist_of(180, 85.05112878, -180, -85.05112878) / 1609.34),
                 "11756.2756");
    CHECK_EQ_STR(fmt_dist(buf, dist_of(0, 0, 2.3522, 48.8566) / 0.3048), "17843925.5327");
    /* same meridian: the latitude-only path */
    CHECK_EQ_STR(fmt_dist(buf, dist_of(10, 20, 10, -30)), "5561315.0933");
    CHECK_EQ_STR(fmt_dist(buf, dist_of(10, 20, 10.5, 20)), "52258.8235");
    CHECK_EQ_STR(fmt_dist(buf, dist_of(-179.9, 0, 179.9, 0) / 1000), "22.2454");
    CHECK_EQ_STR(fmt_dist(buf, geohash_distance(1, 2, 1, 2)), "0.0000");
}

TEST(neighbors_wrap)
{
    geohash_bits h, nb[8];
    geohash_area a, n;
    /* the cell at the south-west corner wraps west and south */
    geohash_encode_wgs84(-180, -85.05112878, 4, &h);
    CHECK_EQ_INT(h.bits, 0);
    geohash_neighbors(&h, nb);
    geohash_decode_wgs84(h, &a);
    geohash_decode_wgs84(nb[3], &n); /* west */
    CHECK(n.lon.max == GEOHASH_LON_MAX);
    CHECK(n.lat.min == a.lat.min);
    geohash_decode_wgs84(nb[1], &n); /* south */
    CHECK(n.lat.max == GEOHASH_LAT_MAX);
    geohash_decode_wgs84(nb[0], &n); /* north */
    CHECK(n.lat.min == a.lat.max);
    CHECK(n.lon.min == a.lon.min);
    geohash_decode_wgs84(nb[4], &n); /* north-east */
    CHECK(n.lat.min == a.lat.max);
    CHECK(n.lon.min == a.lon.max);
    for (int i = 0; i < 8; i++)
        CHECK_EQ_INT(nb[i].step, 4);

    /* moving east then west comes back */
    geohash_encode_wgs84(13.361389, 38.115556, 20, &h);
    geohash_neighbors(&h, nb);
    geohash_bits back[8];
    geohash_neighbors(&nb[2], back);
    CHECK_EQ_INT(back[3].bits, h.bits);
    geohash_neighbors(&nb[0], back);
    CHECK_EQ_INT(back[1].bits, h.bits);
}

TEST(estimate_steps)
{
    CHECK_EQ_INT(geohash_estimate_steps(0, 0), 26);
    CHECK_EQ_INT(geohash_estimate_steps(1, 0), 24);
    CHECK_EQ_INT(geohash_estimate_steps(1000, 0), 14);
    CHECK_EQ_INT(geohash_estimate_steps(1000, 70), 13);
    CHECK_EQ_INT(geohash_estimate_steps(1000, -81), 12);
    CHECK_EQ_INT(geohash_estimate_steps(5e7, 0), 1);
}

TEST(cell_scores)
{
    geohash_bits h;
    geohash_encode_wgs84(13.361389, 38.115556, 10, &h);
    uint64_t min, max;
    geohash_cell_scores(h, &min, &max);
    CHECK_EQ_INT(max - min, 1ULL << 32);
    CHECK(min <= points[0].score && points[0].score < max);
}

TEST(search_areas)
{
    geohash_shape s = {
        .type = GEOHASH_CIRCLE, .lon = 15, .lat = 37, .to_meters = 1000, .radius = 200};
    geohash_search g;
    geohash_search_areas(&s, &g);
    /* every scanned cell has the centre's step; the centre holds (15, 37) */
    int step = g.cells[0].step;
    CHECK(step >= 1 && step <= 26);
    CHECK(g.area.lon.min <= 15 && 15 <= g.area.lon.max);
    CHECK(g.area.lat.min <= 37 && 37 <= g.area.lat.max);
    for (int i = 1; i < GEOHASH_SEARCH_CELLS; i++)
        CHECK(g.cells[i].step == step || (g.cells[i].step == 0 && g.cells[i].bits == 0));

    /* both Sicilian cities are in the union of the cells */
    for (int p = 0; p < 2; p++) {
        int found = 0;
        for (int i = 0; i < GEOHASH_SEARCH_CELLS; i++) {
            uint64_t min, max;
            if (g.cells[i].step == 0)
                continue;
            geohash_cell_scores(g.cells[i], &min, &max);
            found |= min <= points[p].score && points[p].score < max;
        }
        CHECK(found);
    }
}

TEST(in_shape)
{
    double xy[2], d;
    geohash_shape c = {
        .type = GEOHASH_CIRCLE, .lon = 15, .lat = 37, .to_meters = 1000, .radius = 200};
    CHECK_EQ_INT(geohash_in_shape(&c, (double)points[0].score, xy, &d), 1);
    char buf[64];
    /* GEORADIUS k 15 37 200 km WITHDIST on redis-server: Palermo 190.4424 */
    CHECK_EQ_STR(fmt_dist(buf, d / 1000), "190.4424");
    c.radius = 100;
    CHECK_EQ_INT(geohash_in_shape(&c, (double)points[0].score, xy, &d), 0);

    geohash_shape b = {
        .type = GEOHASH_BOX, .lon = 15, .lat = 37, .to_meters = 1000, .width = 400, .height = 400};
    CHECK_EQ_INT(geohash_in_shape(&b, (double)points[0].score, xy, &d), 1);
    CHECK_EQ_STR(fmt_dist(buf, d / 1000), "190.4424");
    b.height = 200; /* Palermo is 123 km north of 37 */
    CHECK_EQ_INT(geohash_in_shape(&b, (double)points[0].score, xy, &d), 0);
}

int main(void)
{
    RUN(encode_scores);
    RUN(encode_rejects_out_of_range);
    RUN(decode_positions);
    RUN(geohash_strings);
    RUN(foreign_scores);
    RUN(distances);
    RUN(neighbors_wrap);
    RUN(estimate_steps);
    RUN(cell_scores);
    RUN(search_areas);
    RUN(in_shape);
    return unit_report("test_geohash");
}
