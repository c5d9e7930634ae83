/*
 * hist.c: log-linear histogram (hist.h).
 *
 * Values below 2^HIST_SUB_BITS get a bucket each (exact). A larger value v
 * with its top bit at position m (m >= HIST_SUB_BITS) falls in magnitude
 * m - HIST_SUB_BITS + 1, split into 2^HIST_SUB_BITS linear sub-buckets of
 * width 2^(m - HIST_SUB_BITS); the sub-bucket is the HIST_SUB_BITS bits
 * after the top bit. A bucket's width is at most v / 2^HIST_SUB_BITS, which
 * bounds the relative error of any reported value by 1/128.
 *
 * Invariant: count == sum of counts[]; min/max are exact (min is UINT64_MAX
 * while empty).
 */
#include "ds/hist.h"

#include <string.h>

#define SUB_COUNT (1u << HIST_SUB_BITS)

static inline unsigned hist_index(uint64_t v)
{
    if (v < SUB_COUNT)
        return (unsigned)v;
    unsigned top = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = top - HIST_SUB_BITS;
    unsigned sub = (unsigned)(v >> shift) & (SUB_COUNT - 1);
    return (shift + 1) * SUB_COUNT + sub;
}

/* Largest value that falls in bucket idx. */
static inline uint64_t hist_upper(unsigned idx)
{
    unsigned mag = idx / SUB_COUNT, sub = idx % SUB_COUNT;
    if (mag == 0)
        return sub;
    unsigned shift = mag - 1;
    uint64_t lower = (uint64_t)(SUB_COUNT + sub) << shift;
    return lower + ((uint64_t)1 << shift) - 1;
}

void hist_init(hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

void hist_record(hist *h, uint64_t v)
{
    h->counts[hist_index(v)]++;
    h->count++;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

void hist_merge(hist *dst, const hist *src)
{
    if (src->count == 0)
        return;
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
    dst->count += src->count;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t hist_percentile(const hist *h, double p)
{
    if (h->count == 0)
        return 0;
    if (p < 0)
        p = 0;
    if (p > 100)
        p = 100;
    /* The rank of the sample that the percentile names: ceil(p% of count),
     * at least the first. */
    double exact = p / 100.0 * (double)h->count;
    uint64_t rank = (uint64_t)exact;
    if ((double)rank < exact)
        rank++;
    if (rank == 0)
        rank = 1;
    if (rank > h->count)
        rank = h->count;

    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t up = hist_upper(i);
            return up < h->max ? up : h->max;
        }
    }
    return h->max;
}
