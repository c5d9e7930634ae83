/*
 * keygen.c: random numbers, key distributions and value bytes.
 *
 * Cost per key is a few nanoseconds: uniform and hotset draws are one or two
 * 64-bit multiplies; zipf uses rejection-inversion (Hörmann and Derflinger,
 * "Rejection-inversion to generate variates from monotone discrete
 * distributions", 1996), which needs no table over the keyspace and accepts
 * nearly every first draw, so a draw costs about one exp and one log. Ranks (zipf) and hot-set
 * members are scrambled over the keyspace by an affine bijection modulo the key count, so the
 * hottest keys are not neighbours.
 *
 * Values are slices of one buffer filled at start-up (pseudo-text by
 * default, so that block compression sees text-like data, or random
 * letters): picking a value is one random offset, never a copy beyond the
 * one into the output buffer.
 */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- rng -------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void rng_seed(rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

/* ---- zipf by rejection-inversion -------------------------------------------- */

/* expm1(t)/t and log1p(t)/t, with their limit 1 near t = 0 where the
 * quotient loses precision. */
static double expm1_over(double t)
{
    return fabs(t) > 1e-8 ? expm1(t) / t : 1.0 + t / 2.0;
}

static double log1p_over(double t)
{
    return fabs(t) > 1e-8 ? log1p(t) / t : 1.0 - t / 2.0;
}

/* The hat function h(x) = x^-s, its integral H(x) = (x^(1-s) - 1)/(1-s)
 * (log x when s = 1) and the inverse of H. */
static double zipf_h(const struct zipf *z, double x)
{
    return exp(-z->s * log(x));
}

static double zipf_H(const struct zipf *z, double x)
{
    double lx = log(x);
    return expm1_over(z->one_minus_s * lx) * lx;
}

static double zipf_H_inv(const struct zipf *z, double y)
{
    double t = y * z->one_minus_s;
    if (t < -1.0)
        t = -1.0; /* rounding at the lower end */
    return exp(log1p_over(t) * y);
}

void zipf_init(struct zipf *z, uint64_t n, double s)
{
    z->n = n;
    z->s = s;
    z->one_minus_s = 1.0 - s;
    z->h_x1 = zipf_H(z, 1.5) - 1.0;
    z->h_n = zipf_H(z, (double)n + 0.5);
    z->s_const = 2.0 - zipf_H_inv(z, zipf_H(z, 2.5) - zipf_h(z, 2.0));
}

uint64_t zipf_sample(const struct zipf *z, rng *r)
{
    for (;;) {
        double u = z->h_n + rng_unit(r) * (z->h_x1 - z->h_n);
        double x = zipf_H_inv(z, u);
        double kd = floor(x + 0.5);
        if (kd < 1.0)
            kd = 1.0;
        else if (kd > (double)z->n)
            kd = (double)z->n;
        /* Accept at once when x is close enough to k that the hat is known
         * to lie under the histogram; otherwise compare against it. */
        if (kd - x <= z->s_const || u >= zipf_H(z, kd + 0.5) - zipf_h(z, kd))
            return (uint64_t)kd;
    }
}

/* ---- keys -------------------------------------------------------------------- */

static uint64_t gcd64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

void keygen_init(struct keygen *g, const struct bench_config *cfg, uint64_t lo, uint64_t hi)
{
    memset(g, 0, sizeof(*g));
    g->dist = cfg->dist;
    g->keys = cfg->keys;
    /* A multiplier near keys/phi that is coprime with the key count makes
     * k -> k*mul + add a permutation that spreads neighbours apart. */
    uint64_t mul = (uint64_t)((double)cfg->keys * 0.6180339887) | 1;
    while (cfg->keys > 1 && gcd64(mul, cfg->keys) != 1)
        mul += 2;
    g->mul = cfg->keys > 1 ? mul % cfg->keys : 0;
    g->add = cfg->keys > 1 ? (cfg->seed * 0x9e3779b97f4a7c15ull) % cfg->keys : 0;
    if (g->dist == DIST_ZIPF)
        zipf_init(&g->zipf, cfg->keys, cfg->theta);
    if (g->dist == DIST_HOTSET) {
        g->hot_keys = (uint64_t)((double)cfg->keys * cfg->hot_pct / 100.0 + 0.5);
        if (g->hot_keys < 1)
            g->hot_keys = 1;
        if (g->hot_keys > cfg->keys)
            g->hot_keys = cfg->keys;
        g->hot_ops = cfg->hot_ops / 100.0;
    }
    g->seq_lo = lo;
    g->seq_hi = hi > lo ? hi : lo + 1;
    g->seq = lo;
}

static inline uint64_t keygen_scramble(const struct keygen *g, uint64_t k)
{
    if (g->keys <= 1)
        return 0;
    return (uint64_t)(((unsigned __int128)k * g->mul + g->add) % g->keys);
}

uint64_t keygen_next(struct keygen *g, rng *r)
{
    switch (g->dist) {
    case DIST_UNIFORM:
        return rng_below(r, g->keys);
    case DIST_ZIPF:
        return keygen_scramble(g, zipf_sample(&g->zipf, r) - 1);
    case DIST_HOTSET: {
        uint64_t k;
        if (g->hot_keys >= g->keys || rng_unit(r) < g->hot_ops)
            k = rng_below(r, g->hot_keys);
        else
            k = g->hot_keys + rng_below(r, g->keys - g->hot_keys);
        return keygen_scramble(g, k);
    }
    case DIST_SEQUENTIAL: {
        uint64_t k = g->seq++;
        if (g->seq >= g->seq_hi)
            g->seq = g->seq_lo;
        return k < g->keys ? k : k % g->keys;
    }
    }
    return 0;
}

/* ---- values ------------------------------------------------------------------- */

#define VALUE_SPAN (1u << 20)
#define VOCAB      1024

/* Word ranks skewed toward the front of the vocabulary (the smaller of two
 * uniform draws), as word frequencies are in text. */
static unsigned word_index(rng *r)
{
    uint64_t a = rng_below(r, VOCAB), b = rng_below(r, VOCAB);
    return (unsigned)(a < b ? a : b);
}

void values_init(struct values *v, const struct bench_config *cfg)
{
    size_t span = VALUE_SPAN;
    size_t size = span + cfg->value_size + 1;
    v->buf = malloc(size);
    v->span = span;
    rng r;
    rng_seed(&r, cfg->seed ^ 0x76616c756573ull);
    if (cfg->values == VALUES_RANDOM) {
        static const char set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        for (size_t i = 0; i < size; i++)
            v->buf[i] = set[rng_below(&r, sizeof(set) - 1)];
        return;
    }
    /* Pseudo-text: words of 2..10 letters from a vocabulary of VOCAB, about
     * one token in eight a number, separated by spaces. Letter frequencies
     * are skewed toward the first letters, as in natural text. */
    char vocab[VOCAB][11];
    for (int i = 0; i < VOCAB; i++) {
        int len = 2 + (int)rng_below(&r, 9);
        for (int j = 0; j < len; j++) {
            uint64_t a = rng_below(&r, 26), b = rng_below(&r, 26);
            vocab[i][j] = (char)('a' + (a < b ? a : b));
        }
        vocab[i][len] = 0;
    }
    size_t pos = 0;
    while (pos < size) {
        char tok[16];
        size_t n;
        if (rng_below(&r, 8) == 0)
            n = (size_t)snprintf(tok, sizeof(tok), "%llu",
                                 (unsigned long long)rng_below(&r, 1000000));
        else
            n = strlen(strcpy(tok, vocab[word_index(&r)]));
        tok[n++] = ' ';
        for (size_t i = 0; i < n && pos < size; i++)
            v->buf[pos++] = tok[i];
    }
}
