/*
 * hist.h: log-linear latency histogram (HDR-style), fixed memory, <= 1%
 * relative error, O(1) record, percentile by walking the buckets.
 * Values are unsigned 64-bit (microseconds or nanoseconds: the caller's unit).
 * Not thread-safe: one writer; merge histograms to combine.
 */
#ifndef LT_DS_HIST_H
#define LT_DS_HIST_H

#include <stdint.h>

/* 7 bits of sub-bucket precision: 128 linear sub-buckets per power of two
 * (relative error < 1/128 < 1%). 64 magnitudes cover all uint64. */
#define HIST_SUB_BITS 7
#define HIST_BUCKETS  (64 * (1 << HIST_SUB_BITS))

typedef struct hist {
    uint64_t count;
    uint64_t min, max;
    uint64_t counts[HIST_BUCKETS];
} hist;

void hist_init(hist *h);
void hist_record(hist *h, uint64_t v);
void hist_merge(hist *dst, const hist *src);
/* Value at percentile p (0..100): the upper bound of the bucket holding it,
 * clamped to max. 0 when empty. */
uint64_t hist_percentile(const hist *h, double p);

#endif
