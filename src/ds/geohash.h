/*
 * geohash.h: the geohash arithmetic behind the GEO commands.
 *
 * A position is stored as the score of a sorted set member: longitude and
 * latitude are each scaled to an unsigned integer of `step` bits over their
 * range (longitude -180..180, latitude -85.05112878..85.05112878, the
 * Web Mercator limits) and the two are interleaved, latitude in the even
 * bits and longitude in the odd bits. At the full 26 steps that is a 52-bit
 * integer, exactly representable as a double. A coordinate equal to its
 * range's maximum scales to 2^step and so sets a bit above the 2*step bits;
 * that is kept on purpose (the scores must match what Redis stores).
 *
 * A search finds a cell whose size fits the radius, then scans the cell and
 * its 8 neighbours (as score ranges of the sorted set) and filters each
 * point by exact distance. Distances use the haversine formula on a sphere
 * of radius GEOHASH_EARTH_RADIUS_M. Every step here is pinned down: the
 * replies (4-decimal distances, the order of unsorted results, which
 * elements COUNT ANY returns) depend on the exact floating point path.
 */
#ifndef LT_DS_GEOHASH_H
#define LT_DS_GEOHASH_H

#include <stdint.h>

#define GEOHASH_STEP_MAX       26 /* 52 bits: what fits exactly in a double */
#define GEOHASH_LAT_MIN        -85.05112878
#define GEOHASH_LAT_MAX        85.05112878
#define GEOHASH_LON_MIN        -180.0
#define GEOHASH_LON_MAX        180.0
#define GEOHASH_EARTH_RADIUS_M 6372797.560856
#define GEOHASH_MERCATOR_MAX   20037726.37 /* half the Mercator world's width, m */

typedef struct geohash_bits {
    uint64_t bits;
    uint8_t step; /* bits per coordinate; 0 with bits 0 marks an unused cell */
} geohash_bits;

typedef struct geohash_range {
    double min, max;
} geohash_range;

/* The rectangle a cell covers. */
typedef struct geohash_area {
    geohash_bits hash;
    geohash_range lon, lat;
} geohash_area;

enum geohash_shape_type { GEOHASH_CIRCLE = 1, GEOHASH_BOX = 2 };

/* A search shape: centre (lon, lat), size in `unit`s, unit size in metres. */
typedef struct geohash_shape {
    int type;
    double lon, lat;
    double to_meters;
    double radius;        /* GEOHASH_CIRCLE */
    double width, height; /* GEOHASH_BOX: full sides, centred on (lon, lat) */
} geohash_shape;

/* The cells a search scans, in scan order: the centre cell, then north,
 * south, east, west, north-east, north-west, south-east, south-west.
 * Cells that cannot hold a match are zeroed (bits 0, step 0). */
#define GEOHASH_SEARCH_CELLS 9
typedef struct geohash_search {
    geohash_bits cells[GEOHASH_SEARCH_CELLS];
    geohash_area area; /* the centre cell */
} geohash_search;

/* Encodes (lon, lat) in the given ranges at `step` bits per coordinate
 * (1..32). Returns 1, or 0 (and *out zeroed) when a coordinate is outside
 * the WGS84/Mercator limits or outside the ranges. */
int geohash_encode(const geohash_range *lon_range, const geohash_range *lat_range, double lon,
                   double lat, int step, geohash_bits *out);
/* geohash_encode over the GEO ranges (longitude +-180, latitude +-85.05...). */
int geohash_encode_wgs84(double lon, double lat, int step, geohash_bits *out);
/* The hash moved to the top of the 52-bit score space: the score of a
 * position at GEOHASH_STEP_MAX, or the first score inside a coarser cell. */
uint64_t geohash_align52(geohash_bits hash);
/* The rectangle of a cell over the given ranges; 0 for a zeroed cell. */
int geohash_decode(const geohash_range *lon_range, const geohash_range *lat_range,
                   geohash_bits hash, geohash_area *area);
int geohash_decode_wgs84(geohash_bits hash, geohash_area *area);
/* The centre of an area clamped to the GEO limits: xy[0] lon, xy[1] lat. */
void geohash_area_center(const geohash_area *area, double xy[2]);
/* Position of a sorted set score (any double, as Redis converts it).
 * Returns 1 (decoding cannot fail for a 26-step hash). */
int geohash_decode_score(double score, double xy[2]);

/* The 8 neighbours of a cell, wrapping around at the edges, in the order
 * north, south, east, west, north-east, north-west, south-east, south-west. */
void geohash_neighbors(const geohash_bits *hash, geohash_bits out[8]);

/* Great-circle distance in metres between two positions (degrees). */
double geohash_distance(double lon1, double lat1, double lon2, double lat2);
/* Distance in metres along a meridian between two latitudes. */
double geohash_lat_distance(double lat1, double lat2);

/* Bounding box of a shape: bounds = {min lon, min lat, max lon, max lat}. */
void geohash_bounding_box(const geohash_shape *shape, double bounds[4]);
/* Cell size (steps) for a search of the given radius around latitude lat. */
int geohash_estimate_steps(double radius_m, double lat);
/* The cells to scan for a shape (see geohash_search). */
void geohash_search_areas(const geohash_shape *shape, geohash_search *out);
/* Score range [*min, *max) that holds the points of a cell. */
void geohash_cell_scores(geohash_bits cell, uint64_t *min, uint64_t *max);
/* Whether the point of score `score` lies in the shape: returns 1 and sets
 * xy (its position) and *dist (metres from the centre), or 0. */
int geohash_in_shape(const geohash_shape *shape, double score, double xy[2], double *dist);

/* The 11-character standard geohash (latitude over +-90) of a score, as the
 * GEOHASH command prints it; out needs 12 bytes (NUL-terminated). */
void geohash_score_to_string(double score, char out[12]);

#endif
